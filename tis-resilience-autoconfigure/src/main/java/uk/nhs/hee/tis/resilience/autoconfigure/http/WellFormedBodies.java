package uk.nhs.hee.tis.resilience.autoconfigure.http;

import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.json.JsonFactory;

import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.util.ClassUtils;

/**
 * Whether a good answer's body may replace the copy kept of it: a body that says it is JSON
 * ({@code application/json}, {@code application/*+json}) must be well-formed JSON, checked with Jackson's
 * streaming parser (no objects are built), so that a complete but malformed answer never replaces a good
 * copy. Other bodies, compressed ones and applications without Jackson 3 are not checked.
 */
final class WellFormedBodies {

	private static final boolean JACKSON_PRESENT = ClassUtils.isPresent("tools.jackson.core.json.JsonFactory",
			WellFormedBodies.class.getClassLoader());

	private WellFormedBodies() {
	}

	static boolean mayReplaceTheKeptCopy(HttpHeaders headers, byte[] body) {
		if (!JACKSON_PRESENT || !isJson(headers) || isEncoded(headers)) {
			return true;
		}
		return Jackson.wellFormed(body);
	}

	private static boolean isJson(HttpHeaders headers) {
		try {
			MediaType type = headers.getContentType();
			return type != null && ("json".equals(type.getSubtype()) || type.getSubtype().endsWith("+json"));
		}
		catch (RuntimeException ex) {
			// An unreadable Content-Type says nothing about the body.
			return false;
		}
	}

	private static boolean isEncoded(HttpHeaders headers) {
		String encoding = headers.getFirst(HttpHeaders.CONTENT_ENCODING);
		return encoding != null && !"identity".equalsIgnoreCase(encoding.trim());
	}

	/** Loaded only when Jackson 3 is on the class path. */
	private static final class Jackson {

		private static final JsonFactory FACTORY = new JsonFactory();

		static boolean wellFormed(byte[] body) {
			if (body.length == 0) {
				return false;
			}
			try (JsonParser parser = FACTORY.createParser(body)) {
				while (parser.nextToken() != null) {
					// Reading every token is the check.
				}
				return true;
			}
			catch (JacksonException ex) {
				return false;
			}
		}

	}

}
