// placeholder translation unit until engine lands
