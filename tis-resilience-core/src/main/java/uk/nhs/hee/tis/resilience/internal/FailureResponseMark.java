package uk.nhs.hee.tis.resilience.internal;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;

import org.jspecify.annotations.Nullable;

/**
 * The value of {@code Tis-Resilience-Service} on a protected call's failure response: the service's
 * name and a mark only this JVM knows, so that a downstream (or a client the starter does not protect)
 * sending the same header cannot make its own failure pass for a protected service's. The mark is a
 * 128-bit random value drawn at class load, compared in constant time.
 *
 * @since 0.2.0
 */
public final class FailureResponseMark {

	private static final String SEPARATOR = ";mark=";

	private static final String MARK = newMark();

	private FailureResponseMark() {
	}

	private static String newMark() {
		byte[] random = new byte[16];
		new SecureRandom().nextBytes(random);
		return Base64.getUrlEncoder().withoutPadding().encodeToString(random);
	}

	/**
	 * Returns the header value for a service's failure response.
	 * @param service the service's name
	 * @return the name with this JVM's mark
	 */
	public static String of(String service) {
		return service + SEPARATOR + MARK;
	}

	/**
	 * Returns the service a header value names, when it carries this JVM's mark.
	 * @param value the header value, or {@code null}
	 * @return the service, or {@code null} when the value is absent or was not set by this JVM
	 */
	public static @Nullable String serviceOf(@Nullable String value) {
		if (value == null) {
			return null;
		}
		int separator = value.lastIndexOf(SEPARATOR);
		if (separator <= 0) {
			return null;
		}
		byte[] mark = value.substring(separator + SEPARATOR.length()).getBytes(StandardCharsets.US_ASCII);
		return MessageDigest.isEqual(mark, MARK.getBytes(StandardCharsets.US_ASCII)) ? value.substring(0, separator)
				: null;
	}

}
