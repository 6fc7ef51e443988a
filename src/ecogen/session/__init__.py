"""The session front: a named recipe and a config file resolved into one TrainConfig (recipes, resolve),
then a run launched, resumed or planned (runs, planning). The API and the CLI call these."""
