package uk.nhs.hee.tis.resilience.jwt;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.ByteArrayOutputStream;
import java.net.ProxySelector;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

import com.nimbusds.jose.util.Resource;
import com.nimbusds.jose.util.ResourceRetriever;
import org.jspecify.annotations.Nullable;

/**
 * Fetches a key set with the JDK's {@link HttpClient}, under one total deadline that covers
 * connecting, the headers and the whole body, and a size limit on the body.
 * <p>
 * Nimbus's {@code DefaultResourceRetriever} (on {@code HttpURLConnection}) times each socket read
 * on its own, so a server that sends a byte now and then keeps a fetch alive far beyond its read
 * timeout. Here the request's own timeout bounds the wait for headers, the caller's wait on the
 * exchange bounds the whole of it, and at the deadline the exchange is cancelled and the body
 * subscription dropped, so the connection is released rather than left dribbling.
 */
final class TotalDeadlineRetriever implements ResourceRetriever {

	private final HttpClient client;

	private final Duration deadline;

	private final int maxResponseSize;

	/**
	 * Creates a retriever.
	 * @param connectTimeout longest wait for a connection (within the deadline)
	 * @param deadline longest a whole fetch may take, from connecting to the last byte of the body
	 * @param maxResponseSize largest body accepted, in bytes
	 */
	TotalDeadlineRetriever(Duration connectTimeout, Duration deadline, int maxResponseSize) {
		HttpClient.Builder builder = HttpClient.newBuilder()
			.connectTimeout((connectTimeout.compareTo(deadline) < 0) ? connectTimeout : deadline)
			// As HttpURLConnection did: follow redirects (never https to http), honour the JVM's proxies.
			.followRedirects(HttpClient.Redirect.NORMAL);
		ProxySelector proxies = ProxySelector.getDefault();
		if (proxies != null) {
			builder.proxy(proxies);
		}
		this.client = builder.build();
		this.deadline = deadline;
		this.maxResponseSize = maxResponseSize;
	}

	@Override
	public Resource retrieveResource(URL url) throws IOException {
		HttpRequest request;
		try {
			request = HttpRequest.newBuilder(url.toURI())
				.timeout(this.deadline)
				.header("Accept", "application/jwk-set+json, application/json")
				.GET()
				.build();
		}
		catch (URISyntaxException | IllegalArgumentException ex) {
			throw new KeySetFetchException(KeySetFetchException.Cause.OTHER, "not a URI: " + url);
		}
		AtomicReference<@Nullable SizeLimitedBody> body = new AtomicReference<>();
		CompletableFuture<HttpResponse<byte[]>> exchange = this.client.sendAsync(request, (info) -> {
			SizeLimitedBody limited = new SizeLimitedBody(this.maxResponseSize);
			body.set(limited);
			return limited;
		});
		HttpResponse<byte[]> response;
		try {
			response = exchange.get(this.deadline.toMillis(), TimeUnit.MILLISECONDS);
		}
		catch (TimeoutException ex) {
			KeySetFetchException timeout = new KeySetFetchException(KeySetFetchException.Cause.TIMEOUT,
					"no complete answer within the total fetch deadline of " + this.deadline);
			abort(exchange, body.get(), timeout);
			throw timeout;
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			abort(exchange, body.get(), new InterruptedIOException("interrupted"));
			throw new InterruptedIOException("interrupted while fetching " + url);
		}
		catch (ExecutionException ex) {
			throw unwrap(ex.getCause());
		}
		int status = response.statusCode();
		if (status < 200 || status > 299) {
			throw new KeySetFetchException(KeySetFetchException.Cause.HTTP_STATUS, "HTTP " + status);
		}
		return new Resource(new String(response.body(), StandardCharsets.UTF_8),
				response.headers().firstValue("Content-Type").orElse(null));
	}

	private static void abort(CompletableFuture<?> exchange, @Nullable SizeLimitedBody body, IOException reason) {
		// Cancelling aborts the exchange (JDK 16+); dropping the body subscription covers a body
		// that is still arriving either way.
		exchange.cancel(true);
		if (body != null) {
			body.abort(reason);
		}
	}

	private static IOException unwrap(@Nullable Throwable failure) {
		Throwable cause = failure;
		while ((cause instanceof CompletionException || cause instanceof ExecutionException)
				&& cause.getCause() != null) {
			cause = cause.getCause();
		}
		if (cause instanceof IOException io) {
			return io;
		}
		return new IOException(String.valueOf(cause), cause);
	}

	/** Collects a body up to a size limit, failing the exchange as soon as the limit is passed. */
	private static final class SizeLimitedBody implements HttpResponse.BodySubscriber<byte[]> {

		private final int limit;

		private final CompletableFuture<byte[]> result = new CompletableFuture<>();

		private final ByteArrayOutputStream received = new ByteArrayOutputStream();

		private volatile Flow.@Nullable Subscription subscription;

		SizeLimitedBody(int limit) {
			this.limit = limit;
		}

		@Override
		public CompletionStage<byte[]> getBody() {
			return this.result;
		}

		@Override
		public void onSubscribe(Flow.Subscription subscription) {
			this.subscription = subscription;
			subscription.request(Long.MAX_VALUE);
		}

		@Override
		public void onNext(List<ByteBuffer> buffers) {
			if (this.result.isDone()) {
				return;
			}
			for (ByteBuffer buffer : buffers) {
				if (this.received.size() + buffer.remaining() > this.limit) {
					abort(new KeySetFetchException(KeySetFetchException.Cause.TOO_LARGE,
							"the response is over the size limit of " + this.limit + " bytes"));
					return;
				}
				byte[] bytes = new byte[buffer.remaining()];
				buffer.get(bytes);
				this.received.write(bytes, 0, bytes.length);
			}
		}

		@Override
		public void onError(Throwable failure) {
			this.result.completeExceptionally(failure);
		}

		@Override
		public void onComplete() {
			this.result.complete(this.received.toByteArray());
		}

		void abort(IOException reason) {
			Flow.Subscription current = this.subscription;
			if (current != null) {
				current.cancel();
			}
			this.result.completeExceptionally(reason);
		}

	}

}
