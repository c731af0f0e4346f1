cd tools
./sp processors list > pre-deploy-snapshot.json
./sp processors stats --all > pre-deploy-stats.json
