build/obj/tests/unit/util_hex.o: tests/unit/util_hex.c tests/unit/util.h
tests/unit/util.h:
