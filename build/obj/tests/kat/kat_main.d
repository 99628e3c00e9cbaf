build/obj/tests/kat/kat_main.o: tests/kat/kat_main.c tests/kat/kat.h \
 common/crypto.h tests/unit/util.h
tests/kat/kat.h:
common/crypto.h:
tests/unit/util.h:
