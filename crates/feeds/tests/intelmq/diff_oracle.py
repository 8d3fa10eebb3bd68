#!/usr/bin/env python3
"""Oracle for baken's differential test: IntelMQ 3.5.0's Shadowserver parser, in process.

Usage: diff_oracle.py SCHEMA CSV_DIR OBSERVATION_TIME OUTPUT_JSONL

For every *.csv in CSV_DIR (sorted), hands IntelMQ one report carrying only `raw` (the
file), `extra.file_name` (its name) and `time.observation` (OBSERVATION_TIME), and runs the
bot's own `parse()` / `parse_line()` exactly as `ParserBot.process()` does (minus the
pipeline), recording per CSV record either the events or the exception. Writes one JSON
object per record to OUTPUT_JSONL:

  {"file": NAME, "index": N, "events": [ {field: value, ...}, ... ]}
  {"file": NAME, "index": N, "error": "ExceptionType: message"}
  {"file": NAME, "fatal": "..."}       (the report as a whole failed)

The bot is built offline in library mode: a throw-away IntelMQ root with the harmonisation
and the given schema (no download, auto_update off).
"""
import base64
import json
import os
import shutil
import sys
import tempfile
import traceback


def main():
    schema, csv_dir, observation, output = sys.argv[1:5]
    root = tempfile.mkdtemp(prefix='baken-intelmq-root-')
    try:
        run(schema, csv_dir, observation, output, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run(schema, csv_dir, observation, output, root):
    # IntelMQ fixes its paths at import time
    os.environ['INTELMQ_ROOT_DIR'] = root
    import importlib.util
    spec = importlib.util.find_spec('intelmq')
    pkg = list(spec.submodule_search_locations)[0]
    for d in ('etc', 'var/log', 'var/run', 'var/lib/bots'):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    shutil.copyfile(os.path.join(pkg, 'etc', 'harmonization.conf'),
                    os.path.join(root, 'etc', 'harmonization.conf'))
    shutil.copyfile(schema, os.path.join(root, 'var/lib/bots/shadowserver-schema.json'))

    import logging
    logging.disable(logging.CRITICAL)
    import warnings
    warnings.simplefilter('ignore')

    from intelmq.lib.bot import BotLibSettings
    from intelmq.lib.message import Report
    from intelmq.bots.parsers.shadowserver.parser import ShadowserverParserBot

    bot = ShadowserverParserBot('shadowserver-parser', settings=BotLibSettings | {
        'logging_level': 'CRITICAL', 'auto_update': False, 'logging_path': None})

    with open(output, 'w') as out:
        for name in sorted(os.listdir(csv_dir)):
            if not name.endswith('.csv'):
                continue
            with open(os.path.join(csv_dir, name), 'rb') as fh:
                raw = fh.read()
            report = Report({'raw': base64.b64encode(raw).decode(),
                             'extra.file_name': name,
                             'time.observation': observation},
                            harmonization=bot.harmonization, auto=True)
            bot.tempdata = []
            index = 0
            try:
                for line in bot.parse(report):
                    if not line:
                        continue
                    try:
                        events = [dict(e) for e in bot.parse_line(line, report) if e]
                        rec = {'file': name, 'index': index, 'events': events}
                    except Exception as exc:
                        rec = {'file': name, 'index': index,
                               'error': f'{type(exc).__name__}: {exc}'}
                    out.write(json.dumps(rec, ensure_ascii=False) + '\n')
                    index += 1
            except Exception:
                out.write(json.dumps({'file': name, 'fatal': traceback.format_exc()}) + '\n')


if __name__ == '__main__':
    main()
