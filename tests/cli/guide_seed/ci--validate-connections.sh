cd tools
./sp workspaces connections test --require-mongodb
