cd tools
./sp processors stats --all > pre-deploy-health.json
./sp workspaces connections test
