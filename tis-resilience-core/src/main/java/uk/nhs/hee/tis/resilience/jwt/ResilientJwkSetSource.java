package uk.nhs.hee.tis.resilience.jwt;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.MalformedURLException;
import java.net.URL;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSelector;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.Resource;
import com.nimbusds.jose.util.ResourceRetriever;
import org.jspecify.annotations.Nullable;

import uk.nhs.hee.tis.resilience.internal.BackgroundRefresher;

/**
 * A JWK source for Nimbus (and so for Spring Security's {@code NimbusJwtDecoder.withJwkSource})
 * that keeps validating tokens while the issuer is down.
 * <ul>
 * <li>The last-known-good key set is held in memory and refreshed ahead, in the background, every
 * {@code refresh-interval} (with jitter): no request thread waits on the issuer while keys are
 * loaded.</li>
 * <li>A fetch that fails for any reason — refused, timeout, 5xx, an HTML page, truncated JSON, a set
 * with no usable key, a body over the size limit — never replaces the good set; it is used until
 * {@code max-stale} after the last successful fetch, and then no key is served (tokens are rejected,
 * never accepted on expired trust). A successful fetch is authoritative: a key no longer listed is
 * dropped at once, which is how the issuer revokes one.</li>
 * <li>No request thread ever waits on a fetch. A token whose key id is unknown is answered at once
 * with no key (so 401) and asks for one background fetch, at most one per
 * {@code unknown-kid-cooldown}, or one per second while no key is trusted at all (a cold start or an
 * outage past {@code max-stale}), so that tokens are accepted again within about a second of the
 * issuer answering without a storm of fetches. Every fetch runs on the source's own thread, one at
 * a time, and ends by its total deadline ({@code read-timeout}, connect, headers and body).</li>
 * <li>Only usable keys are kept (see {@code KeyHardening}); a token without a key id matches
 * nothing.</li>
 * <li>With a cache file, the set is persisted after each successful fetch and loaded at startup, so
 * a service restarted during an outage validates tokens at once.</li>
 * </ul>
 * This source never throws: an unavailable key is an empty answer, which Spring Security turns into
 * 401, not 500.
 *
 * @since 0.1.0
 */
public final class ResilientJwkSetSource implements JWKSource<SecurityContext>, AutoCloseable {

	private static final System.Logger logger = System.getLogger(ResilientJwkSetSource.class.getName());

	private static final Duration FIRST_RETRY = Duration.ofSeconds(5);

	/**
	 * Least time between two fetches asked for by tokens while no key is trusted: short, so that a
	 * cold start recovers within about a second of the issuer answering, yet no storm.
	 */
	static final Duration FETCH_SPACING_WITHOUT_KEYS = Duration.ofSeconds(1);

	private final JwkSetSettings settings;

	private final URL jwkSetUrl;

	private final Clock clock;

	private final KeyHardening hardening;

	private final ResourceRetriever retriever;

	private final @Nullable JwksCacheFile cacheFile;

	private final BackgroundRefresher refresher;

	private volatile JwksCacheFile.@Nullable Snapshot current;

	private volatile Instant lastUnknownKidFetch = Instant.EPOCH;

	private volatile @Nullable Instant lastAttempt;

	private volatile @Nullable String lastFailure;

	private volatile int failuresInARow;

	private final AtomicLong fetches = new AtomicLong();

	private final AtomicLong failedFetches = new AtomicLong();

	private final AtomicLong unknownKidFetches = new AtomicLong();

	private final AtomicLong rateLimitedUnknownKids = new AtomicLong();

	private final Map<String, AtomicLong> failuresByCause = new ConcurrentHashMap<>();

	/**
	 * Creates a source and loads the cache file, if there is one. Call {@link #start()} to fetch and
	 * keep refreshing.
	 * @param settings how keys are fetched, kept and trusted
	 */
	public ResilientJwkSetSource(JwkSetSettings settings) {
		this(settings, Clock.systemUTC());
	}

	ResilientJwkSetSource(JwkSetSettings settings, Clock clock) {
		this.settings = settings;
		this.clock = clock;
		try {
			this.jwkSetUrl = settings.jwkSetUri().toURL();
		}
		catch (MalformedURLException | IllegalArgumentException ex) {
			throw new IllegalArgumentException("jwk-set-uri is not a URL: " + settings.jwkSetUri(), ex);
		}
		this.hardening = new KeyHardening(settings.algorithms());
		this.retriever = new TotalDeadlineRetriever(settings.connectTimeout(), settings.readTimeout(),
				settings.maxResponseSize());
		this.cacheFile = (settings.cacheFile() != null) ? new JwksCacheFile(settings.cacheFile(),
				settings.jwkSetUri().toString(), settings.issuer(), settings.cacheFileKey()) : null;
		this.refresher = new BackgroundRefresher("tis-jwks-refresh", this::fetchOnce, this::nextRefresh);
		loadCacheFile();
	}

	/**
	 * Fetches the key set now and keeps refreshing it ahead, in the background. When no trusted key
	 * was loaded from the cache file, waits for that first fetch (at most {@code read-timeout}, its
	 * total deadline), so that a service starting while the issuer is healthy validates its first
	 * request; call it at startup, never on a request thread.
	 */
	public void start() {
		CompletableFuture<Boolean> first = this.refresher.start();
		if (trusted() == null) {
			await(first);
		}
	}

	@Override
	public List<JWK> get(JWKSelector selector, @Nullable SecurityContext context) {
		// A token without a key id is tried against every trusted key of its algorithm, as Spring Boot's
		// own decoder does: the same tokens pass with the starter on and off (decision record 0010).
		JwksCacheFile.Snapshot snapshot = trusted();
		if (snapshot != null) {
			List<JWK> found = selector.select(snapshot.keys());
			if (!found.isEmpty()) {
				return found;
			}
		}
		// Never wait: the fetch runs in the background and a later request sees what it brought.
		askForFetch(snapshot == null);
		return List.of();
	}

	/**
	 * Returns what the source knows now, for health and metrics.
	 * @return the status
	 */
	public Status status() {
		JwksCacheFile.Snapshot snapshot = this.current;
		Instant now = this.clock.instant();
		Instant fetchedAt = (snapshot != null) ? snapshot.fetchedAt() : null;
		boolean trusted = snapshot != null && !isExpired(snapshot, now);
		boolean stale = fetchedAt == null
				|| Duration.between(fetchedAt, now).compareTo(this.settings.refreshInterval().multipliedBy(2)) > 0;
		// The count before the causes, which are counted first: every failure counted here has its cause below.
		long failed = this.failedFetches.get();
		Map<String, Long> causes = new TreeMap<>();
		this.failuresByCause.forEach((cause, count) -> causes.put(cause, count.get()));
		return new Status(trusted ? snapshot.keys().size() : 0, fetchedAt, stale, this.lastAttempt, this.lastFailure,
				this.fetches.get(), failed, Map.copyOf(causes), this.unknownKidFetches.get(),
				this.rateLimitedUnknownKids.get());
	}

	/**
	 * Fetches the key set now, unless a fetch is already running, and waits for it (at most its total
	 * deadline, {@code read-timeout}). For operators and startup, never for a request thread.
	 * @return whether the fetch succeeded
	 */
	public boolean refreshNow() {
		return await(this.refresher.refresh());
	}

	@Override
	public void close() {
		this.refresher.close();
	}

	private JwksCacheFile.@Nullable Snapshot trusted() {
		JwksCacheFile.Snapshot snapshot = this.current;
		return (snapshot != null && !isExpired(snapshot, this.clock.instant())) ? snapshot : null;
	}

	private boolean isExpired(JwksCacheFile.Snapshot snapshot, Instant now) {
		return Duration.between(snapshot.fetchedAt(), now).compareTo(this.settings.maxStale()) > 0;
	}

	// One background fetch per cooldown for unknown key ids (one per second while no key is
	// trusted); a fetch already running answers for everyone.
	private void askForFetch(boolean noTrustedKey) {
		if (this.refresher.running() != null) {
			return;
		}
		Duration spacing = this.settings.unknownKidCooldown();
		if (noTrustedKey && FETCH_SPACING_WITHOUT_KEYS.compareTo(spacing) < 0) {
			spacing = FETCH_SPACING_WITHOUT_KEYS;
		}
		Instant now = this.clock.instant();
		synchronized (this) {
			if (now.isBefore(this.lastUnknownKidFetch.plus(spacing))) {
				this.rateLimitedUnknownKids.incrementAndGet();
				return;
			}
			this.lastUnknownKidFetch = now;
		}
		this.unknownKidFetches.incrementAndGet();
		this.refresher.refresh();
	}

	private boolean await(CompletableFuture<Boolean> fetch) {
		// The fetch ends by its own total deadline; the margin only covers handing the result over.
		return BackgroundRefresher.await(fetch, this.settings.readTimeout().plusSeconds(1));
	}

	private Duration nextRefresh(boolean succeeded) {
		Duration next;
		if (succeeded) {
			next = this.settings.refreshInterval();
		}
		else {
			Duration backoff = FIRST_RETRY.multipliedBy(1L << Math.min(this.failuresInARow, 10));
			next = (backoff.compareTo(this.settings.refreshInterval()) < 0) ? backoff : this.settings.refreshInterval();
		}
		long jitter = (long) (next.toMillis() * 0.1 * (ThreadLocalRandom.current().nextDouble() * 2 - 1));
		return next.plusMillis(jitter);
	}

	private boolean fetchOnce() {
		this.lastAttempt = this.clock.instant();
		this.fetches.incrementAndGet();
		try {
			Resource resource = this.retriever.retrieveResource(this.jwkSetUrl);
			JWKSet received = JWKSet.parse(resource.getContent());
			JWKSet usable = this.hardening.usableKeys(received);
			if (usable.isEmpty()) {
				throw new KeySetFetchException(KeySetFetchException.Cause.NO_USABLE_KEY,
						"the response holds no usable signature key (" + received.size() + " keys)");
			}
			JwksCacheFile.Snapshot snapshot = new JwksCacheFile.Snapshot(usable, this.clock.instant());
			this.current = snapshot;
			this.failuresInARow = 0;
			this.lastFailure = null;
			persist(snapshot);
			return true;
		}
		catch (IOException | ParseException | RuntimeException ex) {
			// The cause first: whoever sees the failure counted also sees why.
			this.failuresByCause.computeIfAbsent(cause(ex), (key) -> new AtomicLong()).incrementAndGet();
			this.failedFetches.incrementAndGet();
			this.failuresInARow++;
			String failure = ex.getClass().getSimpleName() + ": " + ex.getMessage();
			if (this.failuresInARow == 1 || !failure.equals(this.lastFailure)) {
				JwksCacheFile.Snapshot snapshot = this.current;
				logger.log(Level.WARNING, "tis-resilience event=jwks_fetch_failed url=" + this.jwkSetUrl + " cause=\""
						+ failure + "\" keeping=" + ((snapshot != null) ? snapshot.keys().size() + " last-known-good keys"
								+ " fetched at " + snapshot.fetchedAt() : "no keys"));
			}
			this.lastFailure = failure;
			return false;
		}
	}

	/** A bounded set of cause names, for metrics tags. */
	static String cause(Exception failure) {
		return causeOf(failure).tag();
	}

	private static KeySetFetchException.Cause causeOf(Exception failure) {
		if (failure instanceof KeySetFetchException known) {
			return known.failureCause();
		}
		// HttpConnectTimeoutException is an HttpTimeoutException: a connect timeout is a timeout.
		if (failure instanceof java.net.http.HttpTimeoutException || failure instanceof java.net.SocketTimeoutException) {
			return KeySetFetchException.Cause.TIMEOUT;
		}
		if (failure instanceof java.net.ConnectException || failure instanceof java.net.UnknownHostException
				|| failure instanceof java.net.NoRouteToHostException) {
			return KeySetFetchException.Cause.CONNECT;
		}
		if (failure instanceof ParseException) {
			return KeySetFetchException.Cause.MALFORMED;
		}
		return KeySetFetchException.Cause.OTHER;
	}

	private void persist(JwksCacheFile.Snapshot snapshot) {
		if (this.cacheFile == null) {
			return;
		}
		try {
			this.cacheFile.write(snapshot.keys(), snapshot.fetchedAt());
		}
		catch (IOException | RuntimeException ex) {
			logger.log(Level.WARNING, "tis-resilience event=jwks_cache_write_failed file=" + this.cacheFile.path()
					+ " cause=\"" + ex.getMessage() + "\"");
		}
	}

	private void loadCacheFile() {
		if (this.cacheFile == null || !java.nio.file.Files.exists(this.cacheFile.path())) {
			return;
		}
		try {
			JwksCacheFile.Snapshot snapshot = this.cacheFile.read();
			JWKSet usable = this.hardening.usableKeys(snapshot.keys());
			JwksCacheFile.Snapshot loaded = new JwksCacheFile.Snapshot(usable, snapshot.fetchedAt());
			if (usable.isEmpty() || isExpired(loaded, this.clock.instant())) {
				logger.log(Level.WARNING, "tis-resilience event=jwks_cache_file_ignored file=" + this.cacheFile.path()
						+ " cause=\"" + (usable.isEmpty() ? "no usable key" : "older than max-stale") + "\"");
				return;
			}
			this.current = loaded;
			logger.log(Level.INFO, "tis-resilience event=jwks_cache_file_loaded file=" + this.cacheFile.path()
					+ " keys=" + usable.size() + " fetchedAt=" + snapshot.fetchedAt());
		}
		catch (IOException | RuntimeException ex) {
			logger.log(Level.WARNING, "tis-resilience event=jwks_cache_file_ignored file=" + this.cacheFile.path()
					+ " cause=\"" + ex.getMessage() + "\"");
		}
	}

	/**
	 * What the source knows now.
	 *
	 * @param keys number of trusted keys (0 when none are loaded or they are older than max-stale)
	 * @param fetchedAt when the keys in use were fetched from the issuer, or {@code null}
	 * @param stale whether the keys are older than two refresh intervals (the issuer has been
	 * unreachable, or keys were loaded from the cache file)
	 * @param lastAttempt when a fetch was last attempted, or {@code null}
	 * @param lastFailure why the last fetch failed, or {@code null} when it succeeded
	 * @param fetches fetches attempted
	 * @param failedFetches fetches that failed
	 * @param failuresByCause failed fetches by cause: timeout, connect, http_status, malformed,
	 * no_usable_key, too_large, other
	 * @param unknownKidFetches fetches caused by tokens with an unknown key id
	 * @param rateLimitedUnknownKids tokens with an unknown key id that did not cause a fetch (cooldown)
	 * @since 0.1.0
	 */
	public record Status(int keys, @Nullable Instant fetchedAt, boolean stale, @Nullable Instant lastAttempt,
			@Nullable String lastFailure, long fetches, long failedFetches, Map<String, Long> failuresByCause,
			long unknownKidFetches,
			long rateLimitedUnknownKids) {
	}

}
