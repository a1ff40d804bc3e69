module github.com/wirekit/socketio

go 1.23
