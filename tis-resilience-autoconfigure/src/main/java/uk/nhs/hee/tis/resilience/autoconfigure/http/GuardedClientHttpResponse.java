package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

import org.jspecify.annotations.Nullable;

import org.springframework.http.HttpHeaders;
import org.springframework.http.client.ClientHttpResponse;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.ServiceUnavailableException.Reason;
import uk.nhs.hee.tis.resilience.http.HttpFailureClassifier;
import uk.nhs.hee.tis.resilience.internal.BrokenOffResponseException;
import uk.nhs.hee.tis.resilience.internal.FailureResponseMark;
import uk.nhs.hee.tis.resilience.policy.CallCompletion;
import uk.nhs.hee.tis.resilience.policy.GuardedCall.Failure;

/**
 * A response whose call is finished (bulkhead released, outcome recorded) when its body has been
 * read to the end, has failed, or is closed. A read that fails once the deadline has passed is
 * reported as {@link Reason#TIMEOUT}: the request factory closes the body at the deadline, and a
 * body cut short must never pass for a complete one. A read that fails before it (the service reset
 * the connection mid-body) is reported as {@link Reason#SERVER_ERROR}, caused by a
 * {@link BrokenOffResponseException} saying how far the body got. A response that stands for a failure (5xx, 408,
 * 429) also carries {@value ServiceUnavailableException#SERVICE_HEADER}, the name of its service, so that
 * the client's exception made from it says which service failed (see decision record 0014).
 */
final class GuardedClientHttpResponse extends DelegatingResponse {

	private final String service;

	private final @Nullable Failure failure;

	private final CallCompletion completion;

	private final long deadlineNanos;

	/** Whether the response should have a body (not a HEAD, 1xx, 204 or 304): its length is then checked. */
	private final boolean bodyExpected;

	private @Nullable InputStream body;

	private @Nullable HttpHeaders failureHeaders;

	/** Bytes of the body the caller has read, for the message of a body that broke off. */
	private long bytesRead;

	GuardedClientHttpResponse(String service, ClientHttpResponse delegate, @Nullable Failure failure,
			CallCompletion completion, long deadlineNanos, boolean bodyExpected) {
		super(delegate);
		this.bodyExpected = bodyExpected;
		this.service = service;
		this.failure = failure;
		this.completion = completion;
		this.deadlineNanos = deadlineNanos;
	}

	/** The failure the status stands for (5xx, 408, 429), or null for a success. */
	@Nullable Failure failure() {
		return this.failure;
	}

	@Override
	public HttpHeaders getHeaders() {
		if (this.failure == null) {
			return this.delegate.getHeaders();
		}
		if (this.failureHeaders == null) {
			HttpHeaders headers = new HttpHeaders();
			headers.putAll(this.delegate.getHeaders());
			headers.set(ServiceUnavailableException.SERVICE_HEADER, FailureResponseMark.of(this.service));
			this.failureHeaders = HttpHeaders.readOnlyHttpHeaders(headers);
		}
		return this.failureHeaders;
	}

	@Override
	public InputStream getBody() throws IOException {
		if (this.body == null) {
			InputStream delegateBody;
			try {
				delegateBody = this.delegate.getBody();
			}
			catch (IOException ex) {
				throw rethrow(ex);
			}
			this.body = new GuardedBody(delegateBody);
		}
		else if (this.delegate instanceof RereadableResponse) {
			// Buffered whole by the first read, as a RestTemplate on a buffering factory expects: read it again.
			return this.delegate.getBody();
		}
		return this.body;
	}

	@Override
	public void close() {
		try {
			this.delegate.close();
		}
		finally {
			this.completion.finish(this.failure);
		}
	}

	private boolean pastDeadline() {
		return System.nanoTime() - this.deadlineNanos >= 0;
	}

	/**
	 * Finishes the call with a failed read and answers what to throw: the exception itself when it says
	 * nothing of the service (the call counts as completed), else the guard's exception. A body broken off
	 * is the service failing, like a refused connection: the caller gets the same exception (and so the
	 * same fallback or problem answer), never the client's bare I/O error, nor an unchecked wrapper of it
	 * (Reactor Netty's blocking facade throws one).
	 */
	private <E extends Exception> Exception failed(E ex) {
		if (ex instanceof ServiceUnavailableException) {
			// Already what this response throws (a short body found at its end): decided and counted.
			return ex;
		}
		Reason reason = pastDeadline() ? Reason.TIMEOUT : HttpFailureClassifier.reasonForException(ex);
		if (reason == null) {
			this.completion.finish(ex);
			return ex;
		}
		this.completion.finish(new Failure(reason, null));
		Throwable cause = ex;
		if (reason == Reason.SERVER_ERROR && !(ex instanceof BrokenOffResponseException)) {
			IOException io = null;
			for (Throwable t = ex; t != null && t.getCause() != t && io == null; t = t.getCause()) {
				io = (t instanceof IOException found) ? found : null;
			}
			cause = new BrokenOffResponseException(this.bytesRead, this.delegate.getHeaders().getContentLength(), io);
		}
		return new ServiceUnavailableException(this.service, reason, null, cause);
	}

	// Throws what a failed read becomes.
	private IOException rethrow(Exception ex) throws IOException {
		Exception thrown = failed(ex);
		if (thrown instanceof IOException io) {
			throw io;
		}
		throw (RuntimeException) thrown;
	}

	private final class GuardedBody extends FilterInputStream {

		GuardedBody(InputStream in) {
			super(in);
		}

		@Override
		public int read() throws IOException {
			try {
				int read = this.in.read();
				if (read != -1) {
					GuardedClientHttpResponse.this.bytesRead++;
				}
				return ended(read);
			}
			catch (IOException | RuntimeException ex) {
				throw rethrow(ex);
			}
		}

		@Override
		public int read(byte[] buffer, int offset, int length) throws IOException {
			try {
				int read = this.in.read(buffer, offset, length);
				if (read > 0) {
					GuardedClientHttpResponse.this.bytesRead += read;
				}
				return ended(read);
			}
			catch (IOException | RuntimeException ex) {
				throw rethrow(ex);
			}
		}

		@Override
		public long skip(long n) throws IOException {
			try {
				long skipped = this.in.skip(n);
				GuardedClientHttpResponse.this.bytesRead += skipped;
				return skipped;
			}
			catch (IOException ex) {
				throw rethrow(ex);
			}
		}

		private int ended(int read) throws IOException {
			if (read == -1) {
				GuardedClientHttpResponse response = GuardedClientHttpResponse.this;
				long declared = response.delegate.getHeaders().getContentLength();
				// A client that reads a connection closed early as the end of the body (HttpURLConnection does)
				// must not pass a short body for a whole one. A decoded body's length is not the declared one.
				if (response.bodyExpected && declared >= 0 && response.bytesRead < declared
						&& !response.delegate.getHeaders().containsHeader(HttpHeaders.CONTENT_ENCODING)) {
					throw rethrow(new BrokenOffResponseException(response.bytesRead, declared, null));
				}
				response.completion.finish(response.failure);
			}
			return read;
		}

		@Override
		public void close() throws IOException {
			try {
				this.in.close();
			}
			finally {
				GuardedClientHttpResponse.this.completion.finish(GuardedClientHttpResponse.this.failure);
			}
		}

	}

}
