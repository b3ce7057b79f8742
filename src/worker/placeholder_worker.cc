// placeholder translation unit until worker lands
