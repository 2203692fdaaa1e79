package uk.nhs.hee.tis.resilience.token;

import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

import org.jspecify.annotations.Nullable;

import uk.nhs.hee.tis.resilience.internal.BackgroundRefresher;

/**
 * Holds one client's service-to-service token. It is fetched at {@link #start()}, refreshed in the
 * background once {@code refreshAt} of its lifetime has passed (with jitter), retried with backoff
 * while the issuer is down, and handed out until it really expires (less a small allowance for clock
 * skew) — a token that is still valid is never thrown away because the issuer is unreachable.
 * <p>
 * No caller ever waits on a fetch: one that finds no valid token gets none at once, and asks for a
 * background fetch (at most one per {@code min-backoff}, one at a time), whose token the next
 * caller gets. Only {@link #start()} waits, for the first fetch, on the thread that starts the
 * application.
 * <p>
 * Spring Security's client-credentials provider, by contrast, fetches only within 60 seconds of
 * expiry, on the caller's thread, and fails the outbound call when the issuer is down even though
 * the current token is still valid.
 *
 * @since 0.1.0
 */
public final class ServiceTokenCache implements AutoCloseable {

	private static final System.Logger logger = System.getLogger(ServiceTokenCache.class.getName());

	/**
	 * Tokens are not handed out in their last seconds, so that they do not expire on the way: 5 s, or a
	 * tenth of a shorter-lived token's lifetime.
	 */
	static final Duration EXPIRY_ALLOWANCE = Duration.ofSeconds(5);

	private final String name;

	private final TokenSource source;

	private final Settings settings;

	private final Clock clock;

	private final BackgroundRefresher refresher;

	private final AtomicLong fetches = new AtomicLong();

	private final AtomicLong failedFetches = new AtomicLong();

	private volatile @Nullable AccessToken current;

	private volatile int failuresInARow;

	private volatile boolean refused;

	private volatile Instant lastDemandedFetch = Instant.EPOCH;

	/**
	 * Creates a cache.
	 * @param name what the token is for, for logs (the client registration id)
	 * @param source fetches a new token from the issuer
	 * @param settings when to refresh and how to back off
	 */
	public ServiceTokenCache(String name, TokenSource source, Settings settings) {
		this(name, source, settings, Clock.systemUTC());
	}

	ServiceTokenCache(String name, TokenSource source, Settings settings, Clock clock) {
		this.name = name;
		this.source = source;
		this.settings = settings;
		this.clock = clock;
		this.refresher = new BackgroundRefresher("tis-token-refresh-" + name, this::fetchOnce, this::nextRefresh);
	}

	/**
	 * Fetches the token now and keeps it fresh, in the background; waits for that first fetch, at
	 * most {@code fetch-timeout}, so that the first calls after a healthy start carry a token. Call it
	 * at startup, never on a request thread.
	 */
	public void start() {
		BackgroundRefresher.await(this.refresher.start(), this.settings.fetchTimeout());
	}

	/**
	 * Returns the current token while it is valid; never waits for a fetch. Without a valid token it
	 * answers {@code null} at once and asks for a background fetch, unless one is running or one was
	 * asked for less than {@code min-backoff} ago.
	 * @return the token's value, or {@code null} when no valid token is held now
	 */
	public @Nullable String token() {
		AccessToken token = valid();
		if (token != null) {
			return token.value();
		}
		askForFetch();
		return null;
	}

	/**
	 * Returns the token held now, valid or not, for health and metrics.
	 * @return the token, or {@code null}
	 */
	public @Nullable AccessToken current() {
		return this.current;
	}

	/**
	 * Returns how many fetches were made, and how many failed.
	 * @return {@code [fetches, failed fetches]}
	 */
	public long[] fetchCounts() {
		return new long[] { this.fetches.get(), this.failedFetches.get() };
	}

	@Override
	public void close() {
		this.refresher.close();
	}

	private @Nullable AccessToken valid() {
		AccessToken token = this.current;
		if (token == null) {
			return null;
		}
		return this.clock.instant().isBefore(token.expiresAt().minus(allowance(token))) ? token : null;
	}

	private static Duration allowance(AccessToken token) {
		Duration tenth = Duration.between(token.issuedAt(), token.expiresAt()).dividedBy(10);
		return (tenth.compareTo(EXPIRY_ALLOWANCE) < 0) ? tenth : EXPIRY_ALLOWANCE;
	}

	/**
	 * Returns whether the last fetch failed because the token endpoint refused the client's credentials
	 * ({@link RefusedCredentialsException}), rather than being unreachable.
	 * @return whether the credentials were refused
	 * @since 0.2.0
	 */
	public boolean credentialsRefused() {
		return this.refused;
	}

	private void askForFetch() {
		if (this.refresher.running() != null) {
			return;
		}
		// The fetch that ended between the caller's look and now may have brought a token (it is set
		// before the fetch counts as ended): look again rather than start a second one.
		if (valid() != null) {
			return;
		}
		Instant now = this.clock.instant();
		synchronized (this) {
			// While the endpoint keeps failing, callers ask no more often than the background retries do.
			Duration wait = (this.failuresInARow > 0) ? backoff() : this.settings.minBackoff();
			if (now.isBefore(this.lastDemandedFetch.plus(wait))) {
				return;
			}
			this.lastDemandedFetch = now;
		}
		this.refresher.refresh();
	}

	private boolean fetchOnce() {
		this.fetches.incrementAndGet();
		try {
			AccessToken token = this.source.fetch();
			this.current = token;
			this.failuresInARow = 0;
			this.refused = false;
			return true;
		}
		catch (RefusedCredentialsException ex) {
			this.failedFetches.incrementAndGet();
			this.failuresInARow++;
			if (!this.refused) {
				this.refused = true;
				logger.log(Level.ERROR, "tis-resilience event=service_token_refused client=" + this.name + " error="
						+ ex.getMessage() + " reason=\"the token endpoint refused this client's credentials; check "
						+ "spring.security.oauth2.client.registration." + this.name + ".client-id and client-secret, "
						+ "and the client's settings in the issuer. Fetching again with backoff, up to the max-backoff\"");
			}
			return false;
		}
		catch (Exception ex) {
			this.failedFetches.incrementAndGet();
			this.failuresInARow++;
			this.refused = false;
			if (this.failuresInARow == 1) {
				AccessToken token = this.current;
				logger.log(Level.WARNING, "tis-resilience event=service_token_fetch_failed client=" + this.name
						+ " cause=\"" + ex.getClass().getSimpleName() + ": " + ex.getMessage() + "\" keeping="
						+ ((token != null) ? "token valid until " + token.expiresAt() : "no token"));
			}
			return false;
		}
	}

	private Duration nextRefresh(boolean succeeded) {
		AccessToken token = this.current;
		if (succeeded && token != null) {
			Duration lifetime = Duration.between(token.issuedAt(), token.expiresAt());
			Instant due = token.issuedAt().plusMillis((long) (lifetime.toMillis() * this.settings.refreshAt()));
			long jitter = (long) (lifetime.toMillis() * 0.05 * ThreadLocalRandom.current().nextDouble());
			return Duration.between(this.clock.instant(), due).minusMillis(jitter);
		}
		return untilUsableEnd(backoff());
	}

	/**
	 * A wait after a failed fetch never sleeps past the moment the token held stops being handed out: one
	 * fetch is made then, so an issuer that came back meanwhile gives a new token before callers are refused
	 * (the outage drill D6 saw two seconds of refusals after Keycloak was back, waiting out a 16 s backoff).
	 */
	private Duration untilUsableEnd(Duration backoff) {
		AccessToken token = valid();
		if (token == null) {
			return backoff;
		}
		Duration untilEnd = Duration.between(this.clock.instant(), token.expiresAt().minus(allowance(token)));
		Duration wait = (untilEnd.compareTo(this.settings.minBackoff()) > 0) ? untilEnd : this.settings.minBackoff();
		return (wait.compareTo(backoff) < 0) ? wait : backoff;
	}

	private Duration backoff() {
		Duration backoff = this.settings.minBackoff().multipliedBy(1L << Math.min(this.failuresInARow, 16));
		return (backoff.compareTo(this.settings.maxBackoff()) < 0) ? backoff : this.settings.maxBackoff();
	}

	/**
	 * Fetches a new token from the issuer. It must end by {@code fetch-timeout} (connect, headers and
	 * body): fetches run one at a time, so one that hangs holds back every later one.
	 *
	 * @since 0.1.0
	 */
	@FunctionalInterface
	public interface TokenSource {

		/**
		 * Fetches a token.
		 * @return the token
		 * @throws Exception when the issuer cannot be reached or refuses
		 */
		AccessToken fetch() throws Exception;

	}

	/**
	 * When tokens are refreshed.
	 *
	 * @param refreshAt fraction (over 0, under 1) of a token's lifetime after which a new one is fetched
	 * @param minBackoff first wait before fetching again after a failure, and least time between two
	 * fetches asked for by callers without a valid token
	 * @param maxBackoff longest wait between fetches while the issuer fails
	 * @param fetchTimeout total deadline of one token fetch (connect, headers and body), which the
	 * {@link TokenSource} enforces, and the longest {@link ServiceTokenCache#start()} waits for the
	 * first one; since 0.2.0 no caller of {@link ServiceTokenCache#token()} waits at all
	 * @since 0.1.0
	 */
	public record Settings(double refreshAt, Duration minBackoff, Duration maxBackoff, Duration fetchTimeout) {

		/**
		 * Checks the values.
		 * @throws IllegalArgumentException naming the setting that is not valid
		 */
		public Settings {
			if (!(refreshAt > 0 && refreshAt < 1)) {
				throw new IllegalArgumentException("refresh-at must be over 0 and under 1 but was " + refreshAt);
			}
			if (minBackoff.isNegative() || minBackoff.isZero() || maxBackoff.compareTo(minBackoff) < 0) {
				throw new IllegalArgumentException("min-backoff must be positive and at most max-backoff but were "
						+ minBackoff + " and " + maxBackoff);
			}
			if (fetchTimeout.isNegative() || fetchTimeout.isZero()) {
				throw new IllegalArgumentException("fetch-timeout must be positive but was " + fetchTimeout);
			}
		}

	}

}
