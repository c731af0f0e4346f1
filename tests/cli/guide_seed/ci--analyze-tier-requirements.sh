cd tools
./sp processors tier-advise --all > tier-analysis.json
