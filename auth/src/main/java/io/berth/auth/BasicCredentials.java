package io.berth.auth;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;

/**
 * The user and password of an {@code Authorization: Basic} header (RFC 7617), decoded strictly.
 *
 * @param user the user name, non-empty, without control characters
 * @param password the password's UTF-8 bytes, exactly as sent
 */
record BasicCredentials(String user, byte[] password) {
    /** Longer headers are refused before they are decoded. */
    static final int MAX_HEADER_CHARS = 8 * 1024;
    private static final String SCHEME = "Basic";

    /** Why a header could not be decoded: a message safe to show the client. */
    static final class MalformedException extends Exception {
        private static final long serialVersionUID = 1L;
        private final String reason;

        MalformedException(String reason) {
            super(reason, null, false, false);
            this.reason = reason;
        }

        String reason() {
            return reason;
        }
    }

    /**
     * Decodes a header value: {@code Basic} (in any case), one or more spaces, and base64 of
     * {@code user:password} in UTF-8. The user is everything before the first colon.
     *
     * @throws MalformedException if the header is longer than 8 KiB, is not Basic, or its credentials are not
     *     base64 of UTF-8 with a colon after a non-empty user name without control characters
     */
    static BasicCredentials parse(String header) throws MalformedException {
        if (header.length() > MAX_HEADER_CHARS) {
            throw new MalformedException("the Authorization header is longer than " + MAX_HEADER_CHARS + " characters");
        }
        String value = strip(header);
        if (value.isEmpty()) {
            throw new MalformedException("the Authorization header is empty");
        }
        int space = 0;
        while (space < value.length() && value.charAt(space) != ' ' && value.charAt(space) != '\t') {
            space++;
        }
        if (!value.substring(0, space).equalsIgnoreCase(SCHEME)) {
            throw new MalformedException("the Authorization header is not Basic credentials");
        }
        String token = strip(value.substring(space));
        if (token.isEmpty()) {
            throw new MalformedException("the Basic credentials are empty");
        }
        byte[] decoded;
        try {
            decoded = Base64.getDecoder().decode(token);
        } catch (IllegalArgumentException e) {
            throw new MalformedException("the Basic credentials are not valid base64");
        }
        try {
            int colon = indexOf(decoded, (byte) ':');
            if (colon < 0) {
                throw new MalformedException("the Basic credentials have no ':' between user and password");
            }
            if (colon == 0) {
                throw new MalformedException("the user name is empty");
            }
            String user = utf8(decoded, 0, colon);
            byte[] password = Arrays.copyOfRange(decoded, colon + 1, decoded.length);
            // The password must be text too, as RFC 7617 has it; it stays bytes so that it is never a String.
            utf8(password, 0, password.length);
            for (int i = 0; i < user.length(); i++) {
                if (Character.isISOControl(user.charAt(i))) {
                    throw new MalformedException("the user name has control characters");
                }
            }
            return new BasicCredentials(user, password);
        } finally {
            Arrays.fill(decoded, (byte) 0);
        }
    }

    /** Overwrites the password, once it is no longer needed. */
    void erase() {
        Arrays.fill(password, (byte) 0);
    }

    @Override
    public String toString() {
        return "BasicCredentials[user=" + Messages.quote(user) + ", password=(hidden)]";
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof BasicCredentials c && c.user.equals(user) && Arrays.equals(c.password, password);
    }

    @Override
    public int hashCode() {
        return user.hashCode() * 31 + Arrays.hashCode(password);
    }

    private static String utf8(byte[] bytes, int from, int to) throws MalformedException {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes, from, to - from))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new MalformedException("the Basic credentials are not UTF-8");
        }
    }

    private static String strip(String s) {
        int start = 0;
        int end = s.length();
        while (start < end && (s.charAt(start) == ' ' || s.charAt(start) == '\t')) {
            start++;
        }
        while (end > start && (s.charAt(end - 1) == ' ' || s.charAt(end - 1) == '\t')) {
            end--;
        }
        return s.substring(start, end);
    }

    private static int indexOf(byte[] bytes, byte b) {
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] == b) {
                return i;
            }
        }
        return -1;
    }
}
