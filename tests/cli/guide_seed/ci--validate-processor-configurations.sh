cd tools
./sp processors test --all
