module github.com/posthorn/posthorn/bench

go 1.26.0

replace github.com/posthorn/posthorn => ../

require (
	github.com/emersion/go-smtp v0.25.1
	github.com/posthorn/posthorn v0.0.0-00010101000000-000000000000
)

require github.com/emersion/go-sasl v0.0.0-20241020182733-b788ff22d5a6 // indirect
