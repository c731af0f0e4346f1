#!/bin/bash
# scripts/monitor.sh

set -e

cd tools

echo "🔍 Monitoring Atlas Stream Processing..."

# Get current processor status
./sp processors stats --all > current-stats.json

# Profile all processors
./sp processors profile --all --duration 120 --output current-performance.json

# Check for any stopped processors
STOPPED=$(./sp processors list | jq '.processors[] | select(.status == "STOPPED") | .name' | wc -l)

if [ $STOPPED -gt 0 ]; then
    echo "⚠️  Warning: $STOPPED processors are stopped"
    ./sp processors list | jq '.processors[] | select(.status == "STOPPED")'
fi

# Performance trend analysis
echo "📊 Performance Summary:"
./sp processors profile --all --duration 60 | jq '.processors | to_entries[] | {name: .key, memory: .value.memory_mb.avg, latency: .value.latency_p99_ms.avg}'

echo "✅ Monitoring complete"
