# Health check script
#!/bin/bash

echo "🏥 Health Check Report"
echo "===================="

cd tools

# Processor health
echo "📊 Processor Status:"
./sp processors list | jq '.summary'

# Performance check
echo "⚡ Performance Check:"
./sp processors profile --all --duration 60 | jq '.processors | to_entries[] | {name: .key, health: .value.recommendations}'

# Connection validation
echo "🔗 Connection Health:"
./sp workspaces connections test

echo "✅ Health check complete"
