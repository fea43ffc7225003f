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
	$(BIN)/pybabel update --no-fuzzy-matching -i crmlib/locale/crmlib.pot -d crmlib/locale -D crmlib -l ko

# The Korean example (examples/ko): its cp949 POS export is derived from the bundled sample
# on first use, so `make report ARGS="--config examples/ko/workbook.yml"` is the one command.
KO_EXPORT := examples/ko/data/pos_export_cp949.csv.gz
report: $(if $(findstring examples/ko/,$(ARGS)),$(KO_EXPORT))

$(KO_EXPORT): examples/ko/make_export.py examples/ko/product_words.tsv examples/ko/countries.tsv data/sample/online_retail.csv.gz | $(STAMP)
	$(BIN)/python examples/ko/make_export.py --output $@
