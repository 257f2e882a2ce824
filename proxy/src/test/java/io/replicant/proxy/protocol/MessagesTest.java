package io.replicant.proxy.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;

/** Decoding of the server messages the proxy reads itself, from their exact bytes. */
class MessagesTest {

    private static Frame frame(String hex) {
        byte[] bytes = ByteBufUtil.decodeHexDump(hex.replace(" ", ""));
        return new Frame(bytes[0], Unpooled.wrappedBuffer(bytes));
    }

    @Test
    void commandTag() {
        // 'C', length 11, "COMMIT\0"
        assertTrue(Messages.hasCommandTag(frame("43 0000000b 434f4d4d4954 00"), "COMMIT"));
        assertFalse(Messages.hasCommandTag(frame("43 0000000b 434f4d4d4954 00"), "COMMIX"));
        assertFalse(Messages.hasCommandTag(frame("43 0000000b 434f4d4d4954 00"), "ROLLBACK"));
        // 'C', length 13, "SELECT 1\0": the length of "ROLLBACK"
        assertFalse(Messages.hasCommandTag(frame("43 0000000d 53454c4543542031 00"), "ROLLBACK"));
        // 'C', length 15, "INSERT 0 1\0"
        assertTrue(Messages.hasCommandTag(frame("43 0000000f 494e5345525420302031 00"), "INSERT 0 1"));
    }

    @Test
    void firstColumnOfADataRow() {
        // 'D', length 20, 2 columns: "0/16B6" (6 bytes) and NULL (-1)
        assertEquals("0/16B6", Messages.firstColumn(frame("44 00000014 0002 00000006 302f31364236 ffffffff")));
        // 'D', length 10, 1 column: NULL
        assertNull(Messages.firstColumn(frame("44 0000000a 0001 ffffffff")));
        // 'D', length 6, no columns
        assertNull(Messages.firstColumn(frame("44 00000006 0000")));
    }
}
