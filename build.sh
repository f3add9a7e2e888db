#!/usr/bin/env bash
# Render build step for both services: install the pinned requirements and collect static files.
# Migrations run in the web service's pre-deploy step (render.yaml), not here; see DEPLOYMENT.md.
set -o errexit
set -o nounset
set -o pipefail

python -m pip install --upgrade pip
python -m pip install -r requirements.txt
python manage.py collectstatic --no-input
