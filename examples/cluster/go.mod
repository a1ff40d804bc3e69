module github.com/wirekit/socketio/examples/cluster

go 1.23.0

replace (
	github.com/wirekit/socketio => ../../
	github.com/wirekit/socketio/redisadapter => ../../redisadapter
)

require (
	github.com/redis/go-redis/v9 v9.18.0
	github.com/wirekit/socketio v0.0.0-00010101000000-000000000000
	github.com/wirekit/socketio/redisadapter v0.0.0-00010101000000-000000000000
	golang.org/x/net v0.43.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/dgryski/go-rendezvous v0.0.0-20200823014737-9f7001d12a5f // indirect
	github.com/vmihailenco/msgpack/v5 v5.4.1 // indirect
	github.com/vmihailenco/tagparser/v2 v2.0.0 // indirect
	go.uber.org/atomic v1.11.0 // indirect
)
