cd tools
./sp processors profile --all --duration 300 --output production-baseline.json
