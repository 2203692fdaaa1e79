package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.net.http.HttpTimeoutException;
import java.util.Set;

import org.jspecify.annotations.Nullable;

import org.springframework.http.client.ClientHttpResponse;

/**
 * A response whose body is cut when the attempt's deadline passes with it still arriving, on the two clients
 * that bound each read only: Apache HttpClient (its socket timeout) and Reactor Netty's blocking facade (its
 * response timeout, reset by each part). A body that dribbles a few bytes at a time, each within the timeout,
 * held the caller for as long as the server liked: a 503 whose body took 12 s held a call with a 1 s
 * {@code response-timeout} for 12 s, and 24 s with one retry, because Spring closes both clients' responses by
 * reading the rest of the body. The JDK's and Jetty's clients end the whole exchange at their read timeout
 * themselves (a timer per request); Spring's simple client cannot be cut from another thread and keeps the
 * per-read bound (decision record 0029).
 * <p>
 * The deadline is watched by the starter's one deadline thread ({@link Deadlines}), which also watches
 * WebClient's; the cut runs on it, and closes the connection, so that a read blocked on it fails at once: Apache's body is aborted
 * ({@code EofSensorInputStream.abort()}, its public way to drop a connection whose body is not wanted, found by
 * name because Apache HttpClient is optional); Spring's stream over Reactor Netty is closed, which cancels the
 * body and wakes its reader. Not reached: Apache's decompressing stream (a gzip body), under which the
 * connection cannot be got at, and a redirect's own body; both are named at startup.
 */
final class DeadlineBoundResponse extends DelegatingResponse implements Deadlines.Due {

	private static final Set<String> FACTORIES = Set.of("org.springframework.http.client.HttpComponentsClientHttpRequestFactory",
			"org.springframework.http.client.ReactorClientHttpRequestFactory");

	private static final String APACHE_BODY = "org.apache.hc.core5.http.io.EofSensorInputStream";

	private static final String REACTOR_BODY = "org.springframework.http.client.SubscriberInputStream";

	private static volatile @Nullable MethodHandle abortMethod;

	private final long deadlineNanos;

	private @Nullable InputStream body;

	private volatile @Nullable InputStream abortable;

	/** Whether the body was cut at the deadline: its end is then no end (Reactor's stream ends quietly). */
	private volatile boolean cut;

	private DeadlineBoundResponse(ClientHttpResponse delegate, long deadlineNanos) {
		super(delegate);
		this.deadlineNanos = deadlineNanos;
	}

	/**
	 * The response, bound to the attempt's deadline when its client is Apache HttpClient or Reactor Netty.
	 * @param response the client's response
	 * @param deadlineNanos when the attempt ends, on {@link System#nanoTime()}'s scale ({@link Long#MAX_VALUE}
	 * for none)
	 * @param clientFactory the request factory that made the request
	 * @return the response, wrapped or not
	 */
	static ClientHttpResponse bind(ClientHttpResponse response, long deadlineNanos, Object clientFactory) {
		if (deadlineNanos == Long.MAX_VALUE || !FACTORIES.contains(clientFactory.getClass().getName())) {
			return response;
		}
		return new DeadlineBoundResponse(response, deadlineNanos);
	}

	@Override
	public InputStream getBody() throws IOException {
		InputStream body = this.body;
		if (body == null) {
			body = this.delegate.getBody();
			String type = body.getClass().getName();
			if (type.equals(APACHE_BODY) || type.equals(REACTOR_BODY)) {
				this.abortable = body;
				body = new CutBody(body);
				Deadlines.watch(this);
			}
			this.body = body;
		}
		return body;
	}

	@Override
	public void close() {
		try {
			// Spring closes an Apache response by reading the rest of its body: under the deadline too.
			getBody();
		}
		catch (IOException | RuntimeException ex) {
			// Nothing to read, or it failed already: the delegate's close says the rest.
		}
		try {
			this.delegate.close();
		}
		catch (RuntimeException ex) {
			// After a cut, Spring's close of a Reactor Netty response reads the rest of a body that is no longer there.
			if (!this.cut) {
				throw ex;
			}
		}
		finally {
			Deadlines.forget(this);
			this.abortable = null;
		}
	}

	@Override
	public long dueAtNanos() {
		return this.deadlineNanos;
	}

	/** At the deadline, on the watching thread: cuts a body still being read. */
	@Override
	public void reached() {
		InputStream body = this.abortable;
		this.abortable = null;
		if (body == null) {
			return;
		}
		this.cut = true;
		drop(body);
	}

	/**
	 * Closes a response whose body nobody wants without reading the rest of it, as Spring's close of the JDK's,
	 * Apache's and Reactor Netty's responses does: the connection is closed instead (a redirect the starter
	 * follows itself, whose body may still be arriving).
	 * @param response the response
	 */
	static void discardUnread(ClientHttpResponse response) {
		try {
			drop(response.getBody());
		}
		catch (IOException | RuntimeException ex) {
			// No body, or it failed already: the close below says the rest.
		}
		try {
			response.close();
		}
		catch (RuntimeException ex) {
			// Spring's close of a Reactor Netty response reads the rest of a body that is no longer there.
		}
	}

	// Apache's body is aborted (closing it reads the rest); the JDK's and Reactor Netty's are closed, which
	// cancels them without reading.
	private static void drop(InputStream body) {
		try {
			if (!body.getClass().getName().equals(APACHE_BODY)) {
				body.close();
				return;
			}
			MethodHandle abort = abortMethod;
			if (abort == null) {
				abort = MethodHandles.publicLookup()
					.findVirtual(body.getClass(), "abort", MethodType.methodType(void.class));
				abortMethod = abort;
			}
			abort.invoke(body);
		}
		catch (Throwable ex) {
			// Already released or closed: nothing is left to abort.
		}
	}

	/** The body, whose end after a cut is reported as the deadline passing, never as the whole body. */
	private final class CutBody extends FilterInputStream {

		CutBody(InputStream in) {
			super(in);
		}

		@Override
		public int read() throws IOException {
			return ended(this.in.read());
		}

		@Override
		public int read(byte[] buffer, int offset, int length) throws IOException {
			return ended(this.in.read(buffer, offset, length));
		}

		private int ended(int read) throws IOException {
			if (read == -1 && DeadlineBoundResponse.this.cut) {
				throw new HttpTimeoutException("response body cut at the deadline");
			}
			return read;
		}

	}

}
