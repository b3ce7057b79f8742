// placeholder translation unit until launcher lands
