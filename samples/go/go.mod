module taskwire.dev/samples/go

go 1.22
