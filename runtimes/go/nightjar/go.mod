module nightjar.dev/nightjar

go 1.19
