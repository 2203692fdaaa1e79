package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.BeansException;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.http.client.HttpClientSettings;
import org.springframework.boot.http.client.HttpRedirects;
import org.springframework.boot.http.client.reactive.ClientHttpConnectorBuilder;
import org.springframework.core.ResolvableType;
import org.springframework.http.client.reactive.ClientHttpConnector;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.web.reactive.function.client.WebClient;

/**
 * Protects what an application declares by hand for WebClient:
 * <ul>
 * <li>{@code WebClient} and {@code WebClient.Builder} beans (a {@code @LoadBalanced} builder, a client
 * library's bean) get the guard filter first in their chain and, when they have no connector of their own,
 * the connector Boot built, as Boot's builder has it, instead of a default one Spring would create;</li>
 * <li>an application's own {@code ClientHttpConnectorBuilder} or {@code ClientHttpConnector} bean replaces
 * Boot's, and Boot's customizers (the starter's among them) are applied to Boot's only: it is wrapped here
 * instead, so that every WebClient from Boot's builder still records its requests for stale-if-error and
 * keeps each service's {@code connect-timeout}. The connector it builds is kept: the application chose it.</li>
 * </ul>
 * A connector or connector builder declared as its own concrete type may be injected as that type, so it is
 * left as it is and named at startup ({@link PartlyProtectedClients}).
 */
final class ResilientWebClientBeanPostProcessor extends PartlyProtectedClients {

	private static final Log logger = LogFactory.getLog(ResilientWebClientBeanPostProcessor.class);

	private final ObjectProvider<ResilientExchangeFilterFunction> filter;

	private final ObjectProvider<ClientHttpConnector> connector;

	ResilientWebClientBeanPostProcessor(ObjectProvider<ResilientExchangeFilterFunction> filter,
			ObjectProvider<ClientHttpConnector> connector) {
		this.filter = filter;
		this.connector = connector;
	}

	@Override
	public Object postProcessAfterInitialization(Object bean, String beanName) throws BeansException {
		if (bean instanceof WebClient client) {
			WebClient.Builder builder = client.mutate()
				.filters((filters) -> ReactiveHttpClientResilienceAutoConfiguration.addFirst(filters, this.filter.getObject()));
			ReactiveHttpClientResilienceAutoConfiguration.useBootsConnectorIfNone(builder, this.connector);
			return builder.build();
		}
		if (bean instanceof WebClient.Builder builder) {
			builder.filters((filters) -> ReactiveHttpClientResilienceAutoConfiguration.addFirst(filters, this.filter.getObject()));
			ReactiveHttpClientResilienceAutoConfiguration.useBootsConnectorIfNone(builder, this.connector);
			return bean;
		}
		if (bean instanceof ClientHttpConnector connector && !(connector instanceof WireRecordingConnector)) {
			return wrappedUnlessDeclaredConcrete(beanName, connector, ClientHttpConnector.class, WireRecordingConnector.class,
					() -> {
						nameIfConnectTimeoutsCannotBeKept(connector, new AtomicBoolean());
						// How it was built is not known: it may follow redirects.
						return new WireRecordingConnector(connector, true);
					});
		}
		if (bean instanceof ClientHttpConnectorBuilder<?> builder && !(builder instanceof RecordingConnectorBuilder)) {
			return wrappedUnlessDeclaredConcrete(beanName, builder, ClientHttpConnectorBuilder.class,
					RecordingConnectorBuilder.class, () -> new RecordingConnectorBuilder(builder));
		}
		return bean;
	}

	private Object wrappedUnlessDeclaredConcrete(String beanName, Object bean, Class<?> api, Class<?> wrapper,
			java.util.function.Supplier<Object> wrapped) {
		ResolvableType declared = declaredUnlessReplaceableBy(beanName, wrapper);
		if (declared != null) {
			leftAsItIs(beanName, PartlyProtectedClients.shortName(declared) + " bean: WebClients on it get breaker, "
					+ "bulkhead, retries and deadline, but no per-service connect-timeout and no stale-if-error copies; "
					+ "declare the bean as " + api.getSimpleName() + ((api.getTypeParameters().length > 0) ? "<?>" : "")
					+ " so that the starter can wrap it");
			return bean;
		}
		return wrapped.get();
	}

	/**
	 * A connector builder whose connectors record each request as sent and keep each service's connect-timeout
	 * ({@link WireRecordingConnector}): the starter's customizer of Boot's builder, and its wrapper of an
	 * application's own.
	 */
	static final class RecordingConnectorBuilder implements ClientHttpConnectorBuilder<ClientHttpConnector> {

		private final ClientHttpConnectorBuilder<?> delegate;

		private final AtomicBoolean named = new AtomicBoolean();

		RecordingConnectorBuilder(ClientHttpConnectorBuilder<?> delegate) {
			this.delegate = delegate;
		}

		@Override
		public ClientHttpConnector build(@Nullable HttpClientSettings settings) {
			ClientHttpConnector built = this.delegate.build(settings);
			if (built instanceof WireRecordingConnector) {
				return built;
			}
			nameIfConnectTimeoutsCannotBeKept(built, this.named);
			return new WireRecordingConnector(built,
					settings == null || settings.redirects() != HttpRedirects.DONT_FOLLOW);
		}

	}

	/**
	 * Only Reactor Netty's connector hands a request over once it has a connection; the JDK's, Jetty's and
	 * Apache's hand it over first, so a service's connect-timeout cannot be timed on them (decision 0026).
	 * Said once, when such a connector is built.
	 */
	static void nameIfConnectTimeoutsCannotBeKept(ClientHttpConnector connector, AtomicBoolean named) {
		if (!(connector instanceof ReactorClientHttpConnector) && named.compareAndSet(false, true)) {
			logger.warn("tis-resilience event=connect_timeout_not_kept client=WebClient connector="
					+ connector.getClass().getSimpleName() + " reason=\"this connector sends a request as it connects: "
					+ "WebClient calls get the breaker, bulkhead, retries, deadline and stale-if-error copies, but each "
					+ "service's connect-timeout is not kept; Boot's spring.http.clients.connect-timeout bounds every "
					+ "connection, and a POST or PATCH that fails to connect is not sent again unless redirects are not "
					+ "followed (it may have been a redirect's target that refused). Reactor Netty's connector "
					+ "(spring.http.clients.reactive.connector=reactor) keeps both\"");
		}
	}

}
