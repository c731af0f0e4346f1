cd tools

# Create new processors (green)
./sp processors create --all

# Start new processors with auto-tier selection
./sp processors start --auto

# Validate new deployment
sleep 60
./sp processors stats --all

# Performance validation
./sp processors profile --all --duration 120 --thresholds ../environments/production/thresholds.json
