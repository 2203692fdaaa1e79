package uk.nhs.hee.tis.resilience.token;

import java.time.Instant;
import java.util.Objects;

/**
 * An access token and when it was issued and expires.
 *
 * @param value the token, as sent in {@code Authorization: Bearer}
 * @param issuedAt when it was issued (or received)
 * @param expiresAt when it expires
 * @since 0.1.0
 */
public record AccessToken(String value, Instant issuedAt, Instant expiresAt) {

	/**
	 * Checks the values.
	 * @throws IllegalArgumentException when the token expires before it was issued
	 */
	public AccessToken {
		Objects.requireNonNull(value, "value");
		Objects.requireNonNull(issuedAt, "issuedAt");
		Objects.requireNonNull(expiresAt, "expiresAt");
		if (expiresAt.isBefore(issuedAt)) {
			throw new IllegalArgumentException("a token cannot expire (" + expiresAt + ") before it is issued ("
					+ issuedAt + ")");
		}
	}

	@Override
	public String toString() {
		return "AccessToken[issuedAt=" + this.issuedAt + ", expiresAt=" + this.expiresAt + "]";
	}

}
