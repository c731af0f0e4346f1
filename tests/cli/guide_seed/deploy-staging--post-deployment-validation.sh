cd tools
sleep 30  # Allow processors to stabilize
./sp processors stats --all
./sp processors profile --all --duration 60 --output staging-baseline.json
