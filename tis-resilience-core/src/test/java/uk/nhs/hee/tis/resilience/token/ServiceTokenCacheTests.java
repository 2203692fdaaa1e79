package uk.nhs.hee.tis.resilience.token;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class ServiceTokenCacheTests {

	private final AtomicInteger issued = new AtomicInteger();

	private final AtomicBoolean issuerDown = new AtomicBoolean();

	private final List<ServiceTokenCache> caches = new ArrayList<>();

	private final ServiceTokenCache.Settings settings = new ServiceTokenCache.Settings(0.5, Duration.ofMillis(50),
			Duration.ofMillis(200), Duration.ofSeconds(5));

	@AfterEach
	void close() {
		this.caches.forEach(ServiceTokenCache::close);
	}

	private ServiceTokenCache cache(ServiceTokenCache.TokenSource source) {
		ServiceTokenCache cache = new ServiceTokenCache("tcs", source, this.settings);
		this.caches.add(cache);
		return cache;
	}

	private ServiceTokenCache.TokenSource issuing(Duration lifetime) {
		return () -> {
			if (this.issuerDown.get()) {
				throw new IOException("Connection refused");
			}
			Instant now = Instant.now();
			return new AccessToken("token-" + this.issued.incrementAndGet(), now, now.plus(lifetime));
		};
	}

	@Test
	void answersCallersWithoutATokenAtOnceWhileOneBackgroundFetchRuns() throws Exception {
		CountDownLatch fetching = new CountDownLatch(1);
		CountDownLatch release = new CountDownLatch(1);
		ServiceTokenCache cache = cache(() -> {
			fetching.countDown();
			release.await();
			Instant now = Instant.now();
			return new AccessToken("token-" + this.issued.incrementAndGet(), now, now.plusSeconds(300));
		});
		ExecutorService callers = Executors.newFixedThreadPool(20);
		try {
			List<Future<String>> tokens = new ArrayList<>();
			for (int i = 0; i < 20; i++) {
				tokens.add(callers.submit(cache::token));
			}
			// Every caller is answered while the one fetch is still held by the issuer.
			for (Future<String> token : tokens) {
				assertThat(token.get(1, TimeUnit.SECONDS)).isNull();
			}
			assertThat(fetching.await(5, TimeUnit.SECONDS)).isTrue();
			release.countDown();
			await().atMost(Duration.ofSeconds(5)).until(() -> "token-1".equals(cache.token()));
		}
		finally {
			callers.shutdownNow();
		}
		assertThat(this.issued).hasValue(1);
	}

	@Test
	void keepsUsingAValidTokenWhileTheIssuerIsDown() {
		ServiceTokenCache cache = cache(issuing(Duration.ofMinutes(10)));
		await().atMost(Duration.ofSeconds(5)).until(() -> "token-1".equals(cache.token()));
		this.issuerDown.set(true);
		cache.start();
		await().atMost(Duration.ofSeconds(5)).until(() -> cache.fetchCounts()[1] >= 2);
		assertThat(cache.token()).isEqualTo("token-1");
	}

	@Test
	void fetchesAtStartupAndRefreshesAheadOfExpiry() {
		ServiceTokenCache cache = cache(issuing(Duration.ofSeconds(8)));
		cache.start();
		await().atMost(Duration.ofSeconds(3)).until(() -> this.issued.get() == 1);
		AccessToken first = cache.current();
		await().atMost(Duration.ofSeconds(8)).until(() -> this.issued.get() >= 2);
		assertThat(Instant.now()).isBefore(first.expiresAt());
		assertThat(cache.token()).isNotEqualTo("token-1");
	}

	@Test
	void triesOnceMoreJustBeforeTheHeldTokenStopsBeingHandedOutWhateverTheBackoff() {
		// refresh-at 0.5 of 8 s: the refresh fails from about 4 s on, backing off 0.4, 0.8, 1.6, then 3.2 s,
		// which would first try again at about 10 s. The token is handed out until 7.2 s (8 s less a tenth).
		ServiceTokenCache cache = new ServiceTokenCache("tcs", issuing(Duration.ofSeconds(8)),
				new ServiceTokenCache.Settings(0.5, Duration.ofMillis(200), Duration.ofSeconds(60), Duration.ofSeconds(5)));
		this.caches.add(cache);
		cache.start();
		AccessToken first = cache.current();
		this.issuerDown.set(true);
		await().atMost(Duration.ofSeconds(10)).until(() -> cache.fetchCounts()[1] >= 4);
		this.issuerDown.set(false);
		await().atMost(Duration.ofSeconds(10)).until(() -> this.issued.get() == 2);
		// The issuer was back before the first token ran out, and the new token came before it did.
		assertThat(Instant.now()).isBefore(first.expiresAt());
		assertThat(cache.token()).isEqualTo("token-2");
	}

	@Test
	void stopsHandingOutATokenOnceItExpires() {
		ServiceTokenCache cache = cache(issuing(Duration.ofSeconds(2)));
		cache.start();
		assertThat(cache.token()).isEqualTo("token-1");
		this.issuerDown.set(true);
		await().atMost(Duration.ofSeconds(5)).until(() -> cache.token() == null);
	}

	@Test
	void handsOutATokenShorterLivedThanTheExpiryAllowanceUntilItsLastTenth() {
		// A 4 s token: not held back for the whole 5 s allowance, which would leave nothing to use.
		ServiceTokenCache cache = cache(issuing(Duration.ofSeconds(4)));
		cache.start();
		assertThat(cache.token()).isEqualTo("token-1");
	}

}
