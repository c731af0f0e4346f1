cd tools
./sp processors list > backup/processors-$(date +%Y%m%d).json
./sp workspaces connections list > backup/connections-$(date +%Y%m%d).json
