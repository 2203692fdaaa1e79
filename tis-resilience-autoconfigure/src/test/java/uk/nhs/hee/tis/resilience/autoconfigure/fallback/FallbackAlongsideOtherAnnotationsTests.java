package uk.nhs.hee.tis.resilience.autoconfigure.fallback;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.JdbcTemplateAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;
import org.springframework.cache.annotation.Cacheable;
import org.springframework.cache.annotation.EnableCaching;
import org.springframework.cache.concurrent.ConcurrentMapCacheManager;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.resilience.annotation.EnableResilientMethods;
import org.springframework.resilience.annotation.Retryable;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.web.client.RestClient;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.annotation.Fallback;
import uk.nhs.hee.tis.resilience.autoconfigure.LoopbackFixtures;

import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.ok;
import static com.github.tomakehurst.wiremock.client.WireMock.serviceUnavailable;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * A fallback next to the annotations a real bean also carries — Spring's {@code @Retryable},
 * {@code @Transactional} (on a real H2 database), {@code @Cacheable}, methods returning futures — answers
 * only once everything else has given up, leaves the caller's transaction able to commit, and is never
 * cached as the method's answer. The downstream is a real server on loopback that answers 503; requests
 * are counted on it.
 */
@ExtendWith(OutputCaptureExtension.class)
class FallbackAlongsideOtherAnnotationsTests {

	@RegisterExtension
	static WireMockExtension server = LoopbackFixtures.loopbackServer();

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(LoopbackFixtures.protectedHttpClients(FallbackAutoConfiguration.class))
		.withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class,
				DataSourceTransactionManagerAutoConfiguration.class, JdbcTemplateAutoConfiguration.class,
				TransactionAutoConfiguration.class))
		.withUserConfiguration(Beans.class)
		.withPropertyValues("tis.resilience.services.profile.url=" + server.baseUrl() + "/profile",
				"tis.resilience.services.profile.retry.max-attempts=1",
				"tis.resilience.services.profile.circuit-breaker.minimum-number-of-calls=100",
				"spring.datasource.url=jdbc:h2:mem:fallbacks;DB_CLOSE_DELAY=-1",
				"profile.url=" + server.baseUrl() + "/profile");

	@Test
	void answersOnlyOnceRetryableHasRetriedAndSaysTheRetriesStack(CapturedOutput output) {
		server.stubFor(get("/profile/api/userinfo").willReturn(serviceUnavailable()));
		this.runner.run((context) -> {
			assertThat(context.getBean(Profile.class).retried("ada")).isEqualTo("retried fallback ada");
			server.verify(3, getRequestedFor(urlPathEqualTo("/profile/api/userinfo")));
			assertThat(output).containsOnlyOnce("event=retries_stack method=" + Profile.class.getName() + ".retried(String)");
		});
	}

	@Test
	void leavesTheCallersTransactionAbleToCommitWhenTheFallbackAnswered() {
		server.stubFor(get("/profile/api/userinfo").willReturn(serviceUnavailable()));
		this.runner.run((context) -> {
			JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
			jdbc.execute("create table if not exists placement (trainee varchar(20), roles varchar(60))");
			context.getBean(Placements.class).place("ada");
			assertThat(jdbc.queryForObject("select roles from placement where trainee = 'ada'", String.class))
				.isEqualTo("transactional fallback ada");
		});
	}

	@Test
	void leavesTheCallersTransactionRollbackOnlyAsPlainSpringDoesWhenTheFallbackItselfFails() {
		server.stubFor(get("/profile/api/userinfo").willReturn(serviceUnavailable()));
		this.runner.run((context) -> {
			JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
			jdbc.execute("create table if not exists placement (trainee varchar(20), roles varchar(60))");
			assertThatExceptionOfType(org.springframework.transaction.UnexpectedRollbackException.class)
				.isThrownBy(() -> context.getBean(Placements.class).placeCatching("cy"));
			assertThat(jdbc.queryForObject("select count(*) from placement where trainee = 'cy'", Integer.class)).isZero();
		});
	}

	@Test
	void neverCachesTheFallbacksAnswerAsTheMethods() {
		server.stubFor(get("/profile/api/userinfo").willReturn(serviceUnavailable()));
		this.runner.run((context) -> {
			Profile profile = context.getBean(Profile.class);
			assertThat(profile.cached("ada")).isEqualTo("cached fallback ada");
			server.stubFor(get("/profile/api/userinfo").willReturn(ok("roles of ada")));
			assertThat(profile.cached("ada")).isEqualTo("roles of ada");
			assertThat(profile.cached("ada")).isEqualTo("roles of ada");
			server.verify(2, getRequestedFor(urlPathEqualTo("/profile/api/userinfo")));
		});
	}

	@Test
	void fallsBackWhenAReturnedFutureFails() {
		server.stubFor(get("/profile/api/userinfo").willReturn(ok("late").withFixedDelay(3_000)));
		this.runner.withPropertyValues("tis.resilience.services.profile.response-timeout=300ms")
			.run((context) -> assertThat(context.getBean(Profile.class).later("ada").get(5, TimeUnit.SECONDS))
				.isEqualTo("later fallback ada: TIMEOUT"));
	}

	@Test
	void looksThroughTheCompletionExceptionOfAJoinedFuture() {
		server.stubFor(get("/profile/api/userinfo").willReturn(ok("late").withFixedDelay(3_000)));
		this.runner.withPropertyValues("tis.resilience.services.profile.response-timeout=300ms")
			.run((context) -> assertThat(context.getBean(Profile.class).joined("ada"))
				.isEqualTo("joined fallback ada: TIMEOUT"));
	}

	@Test
	void rollsBackATransactionTheFailedMethodStartedItselfBeforeTheFallbackAnswers() {
		server.stubFor(get("/profile/api/userinfo").willReturn(serviceUnavailable()));
		this.runner.run((context) -> {
			JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
			jdbc.execute("create table if not exists audit (trainee varchar(20))");
			assertThat(context.getBean(Profile.class).audited("bo")).isEqualTo("audited fallback bo");
			assertThat(jdbc.queryForObject("select count(*) from audit where trainee = 'bo'", Integer.class)).isZero();
		});
	}

	@Configuration(proxyBeanMethods = false)
	@EnableResilientMethods
	@EnableCaching
	@Import({ Profile.class, Placements.class })
	static class Beans {

		@Bean
		RestClient profileRestClient(RestClient.Builder builder, org.springframework.core.env.Environment environment) {
			return builder.baseUrl(environment.getRequiredProperty("profile.url")).build();
		}

		@Bean
		ConcurrentMapCacheManager cacheManager() {
			return new ConcurrentMapCacheManager("roles");
		}

	}

	static class Profile {

		private final RestClient profile;

		private final JdbcTemplate jdbc;

		Profile(RestClient profileRestClient, JdbcTemplate jdbc) {
			this.profile = profileRestClient;
			this.jdbc = jdbc;
		}

		private String userinfo() {
			return this.profile.get().uri("/api/userinfo").retrieve().body(String.class);
		}

		@Retryable(maxRetries = 2, delay = 10)
		@Fallback(method = "retriedFallback")
		public String retried(String user) {
			return userinfo();
		}

		String retriedFallback(String user) {
			return "retried fallback " + user;
		}

		@Transactional
		@Fallback(method = "transactionalFallback")
		public String transactional(String user) {
			return userinfo();
		}

		String transactionalFallback(String user) {
			return "transactional fallback " + user;
		}

		@Transactional
		@Fallback(method = "auditedFallback")
		public String audited(String user) {
			this.jdbc.update("insert into audit values (?)", user);
			return userinfo();
		}

		String auditedFallback(String user) {
			return "audited fallback " + user;
		}

		@Transactional
		@Fallback(method = "throwingFallback")
		public String failingFallback(String user) {
			return userinfo();
		}

		String throwingFallback(String user) {
			throw new IllegalStateException("no fallback answer for " + user);
		}

		@Cacheable("roles")
		@Fallback(method = "cachedFallback")
		public String cached(String user) {
			return userinfo();
		}

		String cachedFallback(String user) {
			return "cached fallback " + user;
		}

		@Fallback(method = "laterFallback")
		public CompletableFuture<String> later(String user) {
			return CompletableFuture.supplyAsync(this::userinfo);
		}

		CompletableFuture<String> laterFallback(String user, ServiceUnavailableException ex) {
			return CompletableFuture.completedFuture("later fallback " + user + ": " + ex.reason());
		}

		@Fallback(method = "joinedFallback")
		public String joined(String user) {
			return CompletableFuture.supplyAsync(this::userinfo).join();
		}

		String joinedFallback(String user, ServiceUnavailableException ex) {
			return "joined fallback " + user + ": " + ex.reason();
		}

	}

	static class Placements {

		private final JdbcTemplate jdbc;

		private final Profile profile;

		Placements(JdbcTemplate jdbc, Profile profile) {
			this.jdbc = jdbc;
			this.profile = profile;
		}

		@Transactional
		public void placeCatching(String trainee) {
			this.jdbc.update("insert into placement values (?, ?)", trainee, "before");
			try {
				this.profile.failingFallback(trainee);
			}
			catch (IllegalStateException ex) {
				// The caller carries on, as a caller that catches does; its commit must not keep partial work.
			}
		}

		@Transactional
		public void place(String trainee) {
			this.jdbc.update("insert into placement values (?, ?)", trainee, this.profile.transactional(trainee));
		}

	}

}
