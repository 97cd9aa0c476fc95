module berth.local/bench/client

go 1.23
