# Two commands on a fresh machine with only Python 3.11: `make report`, `make test`.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: report test lab install bench clean messages

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

report: $(STAMP)
	$(BIN)/crm report $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest tests
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider notebooks

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks

bench: $(STAMP)
	@for f in benchmarks/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf data/processed/* reports/* .pytest_cache

# Korean reports: refresh the message template and merge it into the Korean catalogue,
# then fill in the new empty msgstr lines of crmlib/locale/ko/LC_MESSAGES/crmlib.po.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg --project crmlib --no-location --sort-output -o crmlib/locale/crmlib.pot .
	$(BIN)/pybabel update -i crmlib/locale/crmlib.pot -d crmlib/locale -D crmlib -l ko
