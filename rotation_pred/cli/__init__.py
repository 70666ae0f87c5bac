"""The command lines of ``tools/train.py`` (:mod:`.train`) and ``tools/test.py``
(:mod:`.test`). This file imports nothing: ``import rotation_pred`` (what training
processes load through ``custom_imports``) loads none of it."""
