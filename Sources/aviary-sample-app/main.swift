print("aviary-sample-app")
