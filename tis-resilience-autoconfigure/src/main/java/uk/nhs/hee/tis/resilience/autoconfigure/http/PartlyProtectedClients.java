package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.util.Map;

import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.FactoryBean;
import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.beans.factory.support.RootBeanDefinition;
import org.springframework.core.ResolvableType;

/**
 * What a post-processor of client beans could protect only in part: the beans it left as they were, each
 * described with what its calls lack and what to do. {@link UnprotectedEgressReport} names them at startup.
 */
interface PartlyProtectedClients {

	/** The beans, by name, each with a description. */
	Map<String, String> partlyProtected();

	/**
	 * The type a bean is declared as (a {@code @Bean} method's return type, generics included), or null when it
	 * cannot be known. A bean may be injected as that type, so it is replaced only by a wrapper of that type.
	 */
	static @Nullable ResolvableType declaredType(@Nullable ConfigurableListableBeanFactory factory, String beanName) {
		if (factory == null || !factory.containsBeanDefinition(beanName)) {
			return null;
		}
		BeanDefinition definition = factory.getMergedBeanDefinition(beanName);
		ResolvableType type = (definition instanceof RootBeanDefinition root && root.getResolvedFactoryMethod() != null)
				? ResolvableType.forMethodReturnType(root.getResolvedFactoryMethod()) : definition.getResolvableType();
		if (type == ResolvableType.NONE) {
			return null;
		}
		// A FactoryBean's object is injected as the type the FactoryBean says it makes.
		ResolvableType made = type.as(FactoryBean.class);
		return (made == ResolvableType.NONE) ? type : (made.getGeneric(0).resolve() != null) ? made.getGeneric(0) : null;
	}

	/** Whether a wrapper may stand in for a bean declared as {@code declared} (null: not known, so it may). */
	static boolean mayReplace(@Nullable ResolvableType declared, Class<?> wrapper) {
		return declared == null || declared.isAssignableFrom(wrapper);
	}

	/** A declared type as a reader knows it: simple names, generics included. */
	static String shortName(ResolvableType declared) {
		Class<?> type = declared.toClass();
		if (!declared.hasGenerics()) {
			return type.getSimpleName();
		}
		StringBuilder name = new StringBuilder(type.getSimpleName()).append('<');
		ResolvableType[] generics = declared.getGenerics();
		for (int i = 0; i < generics.length; i++) {
			name.append((i > 0) ? ", " : "").append(generics[i].resolve() != null ? shortName(generics[i]) : "?");
		}
		return name.append('>').toString();
	}

}
