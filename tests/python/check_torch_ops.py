print("0 ops")
