cd tools
./sp workspaces connections create
