build/obj/common/crypto.o: common/crypto.c common/crypto.h \
 build/include/blake3.h
common/crypto.h:
build/include/blake3.h:
