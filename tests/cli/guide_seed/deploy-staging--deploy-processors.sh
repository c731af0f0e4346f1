cd tools
./sp processors create --all
./sp processors start --auto
