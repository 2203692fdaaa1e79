package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.net.http.HttpTimeoutException;
import java.util.Arrays;
import java.util.Set;

import org.jspecify.annotations.Nullable;

import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.http.client.ClientHttpResponse;

import uk.nhs.hee.tis.resilience.internal.BrokenOffResponseException;

/**
 * A response whose body was read ahead, up to {@value #LIMIT} bytes, inside the attempt that received
 * it, so that a body the service breaks off can still be retried: nothing of it has reached the caller
 * yet. A body no longer than the limit is wholly in memory when the caller gets it; the rest of a longer
 * one streams on after the part read ahead. Streaming media types (server-sent events, NDJSON) are
 * never read ahead: their caller wants each part as it comes. A read that fails with something other than
 * an I/O error (the client's own failure, not the body's) is not thrown here: the caller meets it when it
 * reads on, as it would without the starter. See decision record 0018.
 */
final class ReadAheadResponse extends DelegatingResponse {

	/** The most bytes read ahead: 64 KiB, enough for the JSON answers services exchange. */
	static final int LIMIT = 64 * 1024;

	/** The buffer a body of unknown length is first read into, doubled up to {@link #LIMIT} as needed. */
	private static final int INITIAL_BUFFER = 8 * 1024;

	private static final Set<String> STREAMING_TYPES = Set.of("text/event-stream", "application/x-ndjson",
			"application/stream+json", "application/jsonl");

	private final InputStream body;

	private ReadAheadResponse(ClientHttpResponse delegate, InputStream body) {
		super(delegate);
		this.body = body;
	}

	/**
	 * Reads the start of the response's body, up to {@link #LIMIT} bytes.
	 * @param response the response, as the request factory returned it
	 * @param deadlineNanos the attempt's deadline on {@link System#nanoTime()}'s scale
	 * @return a response whose body starts with what was read, or {@code response} itself when its
	 * body is not read ahead
	 * @throws BrokenOffResponseException when the body broke off before the deadline (the response is
	 * closed)
	 * @throws HttpTimeoutException when the body was still arriving at the deadline (the response is
	 * closed)
	 */
	static ClientHttpResponse readAhead(ClientHttpResponse response, long deadlineNanos) throws IOException {
		HttpHeaders headers = response.getHeaders();
		long contentLength = headers.getContentLength();
		if (contentLength == 0 || isStreaming(headers)) {
			return response;
		}
		int limit = (contentLength > 0 && contentLength < LIMIT) ? (int) contentLength : LIMIT;
		// Without a length (a chunked body), the buffer grows as the body arrives: most answers are a few
		// KiB, and a 64 KiB buffer per call was garbage on every call.
		byte[] buffer = new byte[Math.min(limit, INITIAL_BUFFER)];
		int read = 0;
		boolean ended = false;
		InputStream in = null;
		try {
			in = response.getBody();
			while (read < limit) {
				if (read == buffer.length) {
					buffer = Arrays.copyOf(buffer, Math.min(limit, buffer.length * 2));
				}
				int n = in.read(buffer, read, buffer.length - read);
				if (n == -1) {
					ended = true;
					break;
				}
				read += n;
			}
			if (!ended && read == contentLength) {
				ended = true;
			}
		}
		catch (IOException | RuntimeException thrown) {
			// Some clients (Reactor Netty's blocking facade) fail a body read with an unchecked wrapper.
			IOException ex = ioFailureIn(thrown);
			if (ex == null) {
				// Not the body breaking off but the client failing it (Jetty's "max redirects exceeded" on the
				// last redirect's body): a caller that reads the body meets it there, and one that does not gets
				// the response, as without the starter.
				RuntimeException failure = (RuntimeException) thrown;
				return new ReadAheadResponse(response, new SequenceInputStream(new ByteArrayInputStream(buffer, 0, read),
						new FailedStream(failure)));
			}
			response.close();
			if (System.nanoTime() - deadlineNanos >= 0) {
				HttpTimeoutException timeout = new HttpTimeoutException(
						"response body still arriving at the deadline, after " + read + " bytes");
				timeout.initCause(ex);
				throw timeout;
			}
			throw new BrokenOffResponseException(read, contentLength, ex);
		}
		if (ended && contentLength > read && !headers.containsHeader(HttpHeaders.CONTENT_ENCODING)) {
			response.close();
			throw new BrokenOffResponseException(read, contentLength, null);
		}
		InputStream start = new ByteArrayInputStream(buffer, 0, read);
		return new ReadAheadResponse(response, ended ? start : new SequenceInputStream(start, in));
	}

	private static @Nullable IOException ioFailureIn(Exception thrown) {
		for (Throwable t = thrown; t != null && t.getCause() != t; t = t.getCause()) {
			if (t instanceof IOException io) {
				return io;
			}
		}
		return null;
	}

	static boolean isStreaming(HttpHeaders headers) {
		try {
			MediaType type = headers.getContentType();
			return type != null && STREAMING_TYPES.contains(type.getType() + "/" + type.getSubtype());
		}
		catch (RuntimeException ex) {
			// An unreadable Content-Type: the converters will say so; reading ahead changes nothing.
			return false;
		}
	}

	@Override
	public InputStream getBody() {
		return this.body;
	}

	/** What is left of a body the client failed: the same failure, on every read. */
	private static final class FailedStream extends InputStream {

		private final RuntimeException failure;

		FailedStream(RuntimeException failure) {
			this.failure = failure;
		}

		@Override
		public int read() {
			throw this.failure;
		}

		@Override
		public int read(byte[] buffer, int offset, int length) {
			throw this.failure;
		}

	}

}
