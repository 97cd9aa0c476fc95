package io.berth.auth.trust;

import java.util.Base64;

/**
 * Base64 as signers write it: standard, padded or not (DSSE, cosign annotations), or URL-safe, which protobuf's
 * JSON form of a bundle may also use. Whitespace and any other character are refused.
 */
final class Base64s {
    private Base64s() {}

    static byte[] decode(String text, String what) throws Refusal {
        if (text.isEmpty()) {
            throw new Refusal(what + " is empty");
        }
        boolean urlSafe = text.indexOf('-') >= 0 || text.indexOf('_') >= 0;
        try {
            return (urlSafe ? Base64.getUrlDecoder() : Base64.getDecoder()).decode(text);
        } catch (IllegalArgumentException e) {
            throw new Refusal(what + " is not valid base64");
        }
    }
}
