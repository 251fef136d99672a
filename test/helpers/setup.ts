// Every WebsocketProvider adds a process 'exit' listener; tests run many of them in one process.
process.setMaxListeners(200)
