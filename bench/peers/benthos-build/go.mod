module benthosbuild

go 1.22

require github.com/benthosdev/benthos/v4 v4.27.0

require (
	github.com/godbus/dbus v4.1.0+incompatible // indirect
	github.com/gsterjov/go-libsecret v0.0.0-20161001094733-a6f4afe4910c // indirect
)
