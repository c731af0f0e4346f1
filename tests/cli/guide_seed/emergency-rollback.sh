# Emergency rollback script
#!/bin/bash
echo "🔄 Emergency rollback initiated..."

cd tools

# Stop all processors
./sp processors stop --all

# Drop current processors
./sp processors drop --all

# Checkout previous version
git checkout HEAD~1 -- processors/

# Redeploy previous version
./sp processors create --all
./sp processors start --auto

echo "✅ Rollback complete"
