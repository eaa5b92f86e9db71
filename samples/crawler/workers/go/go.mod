module taskwire.dev/samples/crawler/worker

go 1.22

require taskwire.dev/samples/go v0.0.0

// The client lives in this repository; nothing is downloaded.
replace taskwire.dev/samples/go => ../../../go
