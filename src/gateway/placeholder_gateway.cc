// placeholder translation unit until gateway lands
